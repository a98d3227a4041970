// GigyaKit
