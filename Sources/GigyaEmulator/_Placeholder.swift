// GigyaEmulator
