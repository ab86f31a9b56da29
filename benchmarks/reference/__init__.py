"""Scripts run inside the reference venv (.benchmarks-env, livekit-agents 1.8.9)."""
