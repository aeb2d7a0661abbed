"""Real container engines (podman, containerd) driving `runtime`.

Each helper sets up an isolated engine under a temp dir, registers the runtime
behind an argv-logging wrapper, and tears everything down again.
"""
