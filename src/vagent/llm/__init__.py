"""vagent.llm"""
