package automation

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"syscall"

	"github.com/weftxdr/weft"
)

// MaxSecretBytes bounds a notification secret file.
const MaxSecretBytes = 4 << 10

// errNoSecretsDir is the refusal of a secretFile by a server without a
// notification secrets directory.
var errNoSecretsDir = weft.Errorf(weft.EINVALID,
	"secretFile: this server has no notification secrets directory; its operator must start it with --notify-secrets-dir (WEFT_NOTIFY_SECRETS_DIR) and put the key file there")

// ReadSecretFile reads the notification secret named name from dir, the
// notification secrets directory of the server, for a tenant admin who
// named it in a rule. The invariants, each a defence against an admin who
// names what is not theirs:
//   - dir must be set (errNoSecretsDir otherwise) and name must pass
//     weft.CheckSecretFileName: a plain file name, never a path;
//   - the file is opened through an os.Root on dir, so that no symlink
//     leads out of it (a symlink within it, as Kubernetes secret volumes
//     make, is followed);
//   - it must be a regular file, checked before opening (Stat, so that a
//     FIFO or device is never opened) and again on the open file (against
//     a swap in between), which is opened non-blocking;
//   - it must hold 1 to MaxSecretBytes bytes, read whole, and the read
//     returns when ctx ends.
//
// Errors are EINVALID and name neither dir nor any other path.
func ReadSecretFile(ctx context.Context, dir, name string) ([]byte, error) {
	if dir == "" {
		return nil, errNoSecretsDir
	}
	if err := weft.CheckSecretFileName(name); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := readSecret(dir, name)
		done <- result{b, err}
	}()
	select {
	case r := <-done:
		return r.b, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func readSecret(dir, name string) ([]byte, error) {
	bad := func(what string) error {
		return weft.Errorf(weft.EINVALID, "secretFile: %q %s", name, what)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, bad("cannot be read: the notification secrets directory cannot be opened")
	}
	defer root.Close()
	fi, err := root.Stat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, bad("is not in the notification secrets directory")
	case err != nil:
		// Among others, a symlink that leads out of the directory.
		return nil, bad("cannot be used: it is not a file inside the notification secrets directory")
	case !fi.Mode().IsRegular():
		return nil, bad("is not a regular file")
	case fi.Size() > MaxSecretBytes:
		return nil, bad("is larger than 4 KiB")
	}
	f, err := root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, bad("cannot be opened")
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, bad("is not a regular file")
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxSecretBytes+1))
	switch {
	case err != nil:
		return nil, bad("cannot be read")
	case len(b) > MaxSecretBytes:
		return nil, bad("is larger than 4 KiB")
	case len(bytes.TrimSpace(b)) == 0:
		return nil, bad("is empty")
	}
	return b, nil
}
