// VaultTesting
