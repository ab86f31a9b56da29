"""vagent.session"""
