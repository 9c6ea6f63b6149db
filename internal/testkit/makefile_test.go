package testkit

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The Makefile's REDIS_PACKAGES, which make test runs again on a Redis
// Cluster, covers every package whose tests use Redis: a package that
// starts to use it without being listed would never meet a cluster.
func TestMakefileListsTheRedisPackages(t *testing.T) {
	root := repoPath(t)
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^REDIS_PACKAGES\s*:=\s*(.+)$`).FindSubmatch(mk)
	if m == nil {
		t.Fatal("the Makefile has no REDIS_PACKAGES")
	}
	listed := strings.Fields(string(m[1]))
	covered := func(dir string) bool {
		for _, p := range listed {
			p = strings.TrimPrefix(p, "./")
			if base, ok := strings.CutSuffix(p, "/..."); ok {
				if dir == base || strings.HasPrefix(dir, base+"/") {
					return true
				}
			} else if dir == p {
				return true
			}
		}
		return false
	}
	uses := regexp.MustCompile(`testkit\.NewRedis\(|transformtest\.NewEnv\(`)
	found := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules") && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil || !uses.Match(src) {
			return err
		}
		found++
		dir, _ := filepath.Rel(root, filepath.Dir(path))
		if !covered(filepath.ToSlash(dir)) {
			t.Errorf("%s uses Redis in its tests, but REDIS_PACKAGES (%s) does not list ./%s", filepath.ToSlash(dir), m[1], filepath.ToSlash(dir))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found == 0 {
		t.Fatal("no test file uses Redis: the pattern is out of date")
	}
}
