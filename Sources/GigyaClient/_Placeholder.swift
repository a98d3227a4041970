// GigyaClient
