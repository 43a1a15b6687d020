// Package password hashes the console owners' passwords with argon2id
// (golang.org/x/crypto/argon2) and checks them in constant time. It
// implements hub.PasswordHasher.
//
// Hashes are stored in the PHC string format that other argon2 libraries
// read too:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt, base64>$<hash, base64>
//
// The default parameters are OWASP's first recommendation for argon2id
// (19 MiB of memory, 2 passes, 1 lane). The parameters travel with each hash,
// so raising them later leaves existing hashes readable.
package password
