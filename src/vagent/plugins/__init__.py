"""vagent.plugins"""
