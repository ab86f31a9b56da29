"""vagent.testing"""
