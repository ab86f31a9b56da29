"""vagent.rtc"""
