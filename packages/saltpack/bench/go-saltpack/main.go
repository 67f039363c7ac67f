// A file-to-file encryptor/decryptor over the reference Go Saltpack library
// (github.com/keybase/saltpack), built by bench.mjs when a Go toolchain and the library's
// sources are found. Written for this benchmark.
//
//   go-saltpack encrypt <recipients-file> <in> <out>   (anonymous sender, version 2)
//   go-saltpack decrypt <secret-key-file> <in> <out>
//
// Key files hold hex: a recipients file one X25519 public key per line, a secret key file the
// 32-byte secret then the 32-byte public key on one line.
package main

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/keybase/saltpack"
	"github.com/keybase/saltpack/basic"
)

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

func key32(s string) *[32]byte {
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != 32 {
		fail(fmt.Errorf("bad key %q", s))
	}
	var k [32]byte
	copy(k[:], b)
	return &k
}

func main() {
	if len(os.Args) != 5 {
		fail(fmt.Errorf("usage: go-saltpack encrypt|decrypt <keys> <in> <out>"))
	}
	in, err := os.Open(os.Args[3])
	if err != nil {
		fail(err)
	}
	defer in.Close()
	out, err := os.Create(os.Args[4])
	if err != nil {
		fail(err)
	}
	w := bufio.NewWriterSize(out, 1<<20)
	keys, err := os.ReadFile(os.Args[2])
	if err != nil {
		fail(err)
	}
	switch os.Args[1] {
	case "encrypt":
		var receivers []saltpack.BoxPublicKey
		for _, line := range strings.Split(strings.TrimSpace(string(keys)), "\n") {
			receivers = append(receivers, basic.PublicKey(*key32(line)))
		}
		enc, err := saltpack.NewEncryptStream(saltpack.Version2(), w, nil, receivers)
		if err != nil {
			fail(err)
		}
		if _, err := io.Copy(enc, bufio.NewReaderSize(in, 1<<20)); err != nil {
			fail(err)
		}
		if err := enc.Close(); err != nil {
			fail(err)
		}
	case "decrypt":
		f := strings.Fields(string(keys))
		ring := basic.NewKeyring()
		ring.ImportBoxKey(key32(f[1]), key32(f[0]))
		_, plain, err := saltpack.NewDecryptStream(saltpack.CheckKnownMajorVersion, bufio.NewReaderSize(in, 1<<20), ring)
		if err != nil {
			fail(err)
		}
		if _, err := io.Copy(w, plain); err != nil {
			fail(err)
		}
	default:
		fail(fmt.Errorf("unknown command %s", os.Args[1]))
	}
	if err := w.Flush(); err != nil {
		fail(err)
	}
	if err := out.Close(); err != nil {
		fail(err)
	}
}
