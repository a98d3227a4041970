// VaultDevelopment
