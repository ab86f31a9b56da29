"""Provider interfaces: STT, TTS, VAD, stream adapters, tokenizers, audio utilities, metrics."""
