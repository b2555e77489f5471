package argocd_test

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kuberpult/argocd"
	"kuberpult/argocd/argocdfake"
)

func TestTLS(t *testing.T) {
	fake := argocdfake.NewTLS(t)
	fake.Set(app("staging", "shop", "checkout", argocd.Healthy))
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	writeFile(t, caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: fake.Certificate().Raw}))
	garbage := filepath.Join(dir, "garbage.pem")
	writeFile(t, garbage, []byte("not a certificate\n"))

	tests := []struct {
		name    string
		opts    argocd.Options
		newErr  string // New fails with this
		wantErr bool   // the request fails for the certificate
	}{
		{name: "CA file", opts: argocd.Options{CAFile: caFile}},
		{name: "insecure", opts: argocd.Options{Insecure: true}},
		{name: "neither: the certificate is not trusted", opts: argocd.Options{}, wantErr: true},
		{name: "CA file without certificates", opts: argocd.Options{CAFile: garbage}, newErr: "argocd: CA file " + garbage + " holds no PEM certificate"},
		{name: "missing CA file", opts: argocd.Options{CAFile: filepath.Join(dir, "nope.pem")}, newErr: "argocd: read CA file: open " + filepath.Join(dir, "nope.pem") + ": no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Server, tt.opts.Token = fake.URL(), fake.Token()
			c, err := argocd.New(tt.opts)
			if tt.newErr != "" {
				if err == nil || err.Error() != tt.newErr {
					t.Fatalf("New: error %v, want %q", err, tt.newErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Application(t.Context(), "staging-shop", false)
			if !tt.wantErr {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var unknown x509.UnknownAuthorityError
			if !errors.As(err, &unknown) {
				t.Errorf("error %v, want an unknown authority", err)
			}
			if strings.Contains(err.Error(), fake.Token()) {
				t.Errorf("error %q shows the token", err)
			}
		})
	}
}

func writeFile(t *testing.T, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(name, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
