"""vagent.mixer"""
