"""Operations: backups and restores, metrics, logs, the commands operators run."""
