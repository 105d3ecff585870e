"""Writers: stage a chunk's valid records, then merge a job's staging into the target tables."""
