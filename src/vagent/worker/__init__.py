"""vagent.worker"""
