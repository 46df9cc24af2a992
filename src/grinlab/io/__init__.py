"""Sources (images, folders, videos), sinks (JSONL/CSV rows, annotated images and video) and drawing."""
