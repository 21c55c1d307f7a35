package farm

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// BuildTestELF compiles a tiny program with gcc, whose GNU build id is id
// (hex), and returns its path.
func BuildTestELF(t *testing.T, dir, id string) string {
	t.Helper()
	src := filepath.Join(dir, "app.c")
	if err := os.WriteFile(src, []byte("int main(void) { return 0; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "app-"+id+".elf")
	cmd := exec.Command("gcc", "-o", out, src, "-Wl,--build-id=0x"+id)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gcc (needed to build a test ELF): %v\n%s", err, b)
	}
	return out
}
