"""What each pipeline can be told: one config dataclass per command, torch-free.

Each `XConfig` is the single source of its defaults and checks (`__post_init__` raises a
ValueError naming the flag); `lesson7.configs.flags` turns it into command-line flags, and the
library function that runs it takes the config itself (`train_restorer(RestoreTrainConfig(...))`).
Importing this package costs no torch, so `lesson7 X --help` is instant.
"""
