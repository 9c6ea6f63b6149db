package deploy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

const (
	composePath    = "../docker-compose.yml"
	dockerfilePath = "Dockerfile"
	// the Dockerfile as the compose file names it, relative to its build context
	composeDockerfile = "deploy/Dockerfile"
)

// The parts of the Compose format these tests read. Where Compose allows two
// spellings (environment as a map or a list, depends_on as a list or a map,
// build as a string or a map, command as a string or a list) both decode.
type composeFile struct {
	Services map[string]*service `yaml:"services"`
	Volumes  map[string]any      `yaml:"volumes"`
}

type service struct {
	Image       string       `yaml:"image"`
	Build       *build       `yaml:"build"`
	Command     stringList   `yaml:"command"`
	Environment environment  `yaml:"environment"`
	Healthcheck *healthcheck `yaml:"healthcheck"`
	DependsOn   dependsOn    `yaml:"depends_on"`
	Volumes     []string     `yaml:"volumes"`
	Ports       []string     `yaml:"ports"`
}

type build struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
}

func (b *build) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		b.Context = n.Value
		return nil
	}
	type plain build
	return n.Decode((*plain)(b))
}

type healthcheck struct {
	Test    healthTest `yaml:"test"`
	Disable bool       `yaml:"disable"`
}

// healthTest is a healthcheck's test; the string form means CMD-SHELL.
type healthTest []string

func (h *healthTest) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*h = healthTest{"CMD-SHELL", n.Value}
		return nil
	}
	return n.Decode((*[]string)(h))
}

type stringList []string

func (s *stringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*s = strings.Fields(n.Value)
		return nil
	}
	return n.Decode((*[]string)(s))
}

type environment map[string]string

func (e *environment) UnmarshalYAML(n *yaml.Node) error {
	*e = environment{}
	switch n.Kind {
	case yaml.MappingNode:
		var m map[string]any
		if err := n.Decode(&m); err != nil {
			return err
		}
		for k, v := range m {
			if v == nil {
				(*e)[k] = ""
			} else {
				(*e)[k] = fmt.Sprint(v)
			}
		}
	case yaml.SequenceNode:
		var l []string
		if err := n.Decode(&l); err != nil {
			return err
		}
		for _, kv := range l {
			k, v, _ := strings.Cut(kv, "=")
			(*e)[k] = v
		}
	default:
		return fmt.Errorf("line %d: environment must be a map or a list", n.Line)
	}
	return nil
}

// dependsOn maps a dependency to its condition ("" for the short list form).
type dependsOn map[string]string

func (d *dependsOn) UnmarshalYAML(n *yaml.Node) error {
	*d = dependsOn{}
	switch n.Kind {
	case yaml.SequenceNode:
		var l []string
		if err := n.Decode(&l); err != nil {
			return err
		}
		for _, s := range l {
			(*d)[s] = ""
		}
	case yaml.MappingNode:
		var m map[string]struct {
			Condition string `yaml:"condition"`
		}
		if err := n.Decode(&m); err != nil {
			return err
		}
		for k, v := range m {
			(*d)[k] = v.Condition
		}
	default:
		return fmt.Errorf("line %d: depends_on must be a list or a map", n.Line)
	}
	return nil
}

func parseCompose(data []byte) (*composeFile, error) {
	var c composeFile
	if err := yaml.Unmarshal(data, &c); err != nil {
		return nil, err
	}
	if len(c.Services) == 0 {
		return nil, errors.New("no services")
	}
	return &c, nil
}

func loadCompose(t *testing.T) *composeFile {
	t.Helper()
	data, err := os.ReadFile(composePath)
	if err != nil {
		t.Fatalf("read %s: %v", composePath, err)
	}
	c, err := parseCompose(data)
	if err != nil {
		t.Fatalf("parse %s: %v", composePath, err)
	}
	return c
}

// splitImage splits "registry:5000/repo/name:tag@sha256:..." into the
// repository without registry host, the tag and the digest.
func splitImage(ref string) (repo, tag, digest string) {
	ref, digest, _ = strings.Cut(ref, "@")
	name := ref
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		name, tag = ref[:i], ref[i+1:]
	}
	// drop a registry host ("ghcr.io/", "localhost:5000/")
	if first, rest, ok := strings.Cut(name, "/"); ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		name = rest
	}
	return name, tag, digest
}

// A role: what sluice needs from the file, and how to recognise the service
// that plays it.
type role struct {
	name  string
	match func(name string, s *service) bool
}

func byImage(repos ...string) func(string, *service) bool {
	return func(_ string, s *service) bool {
		repo, _, _ := splitImage(s.Image)
		return slices.Contains(repos, repo)
	}
}

func sluiceRole(sub string) func(string, *service) bool {
	return func(_ string, s *service) bool {
		return s.Build != nil && len(s.Command) > 0 && s.Command[0] == sub
	}
}

var (
	kafkaRole    = role{"kafka", byImage("apache/kafka", "apache/kafka-native", "confluentinc/cp-kafka")}
	registryRole = role{"schema registry", byImage("confluentinc/cp-schema-registry")}
	redisRole    = role{"redis", byImage("library/redis", "redis", "redis/redis-stack-server")}
	postgresRole = role{"postgres", byImage("library/postgres", "postgres")}
	kafkaUIRole  = role{"kafka-ui", byImage("kafbat/kafka-ui")}
	sluiceRoles  = []role{
		{"sluice ingress", sluiceRole("ingress")},
		{"sluice transform", sluiceRole("transform")},
		{"sluice deliver", sluiceRole("deliver")},
	}
	requiredRoles = append([]role{kafkaRole, registryRole, redisRole, postgresRole, kafkaUIRole}, sluiceRoles...)
)

// find returns the name of the one service that plays r.
func (c *composeFile) find(r role) (string, error) {
	var found []string
	for name, s := range c.Services {
		if r.match(name, s) {
			found = append(found, name)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return "", fmt.Errorf("no service is the %s", r.name)
	default:
		slices.Sort(found)
		return "", fmt.Errorf("several services claim to be the %s: %v", r.name, found)
	}
}

// The checks. Each returns every problem it sees; TestCompose runs them on
// the real file, TestChecksCatch on broken copies of it.

func checkRequiredServices(c *composeFile) []error {
	var errs []error
	for _, r := range requiredRoles {
		if _, err := c.find(r); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

func checkPinnedImages(c *composeFile) []error {
	var errs []error
	for _, name := range sortedNames(c) {
		s := c.Services[name]
		if s.Image == "" {
			if s.Build == nil {
				errs = append(errs, fmt.Errorf("%s: neither image nor build", name))
			}
			continue
		}
		if err := pinned(s.Image); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	return errs
}

func pinned(image string) error {
	_, tag, digest := splitImage(image)
	switch {
	case strings.Contains(image, "${"):
		return fmt.Errorf("image %q comes from a variable; pin it in the file", image)
	case digest != "":
		return nil
	case tag == "":
		return fmt.Errorf("image %q has no tag (that means latest); pin a version", image)
	case tag == "latest" || tag == "stable" || tag == "edge":
		return fmt.Errorf("image %q uses the moving tag %q; pin a version", image, tag)
	}
	return nil
}

func checkHealthchecks(c *composeFile) []error {
	var errs []error
	for _, name := range sortedNames(c) {
		h := c.Services[name].Healthcheck
		switch {
		case h == nil:
			errs = append(errs, fmt.Errorf("%s: no healthcheck", name))
		case h.Disable || len(h.Test) == 0 || h.Test[0] == "NONE":
			errs = append(errs, fmt.Errorf("%s: healthcheck is disabled or empty", name))
		case h.Test[0] != "CMD" && h.Test[0] != "CMD-SHELL":
			errs = append(errs, fmt.Errorf("%s: healthcheck test must start with CMD or CMD-SHELL, got %q", name, h.Test[0]))
		case len(h.Test) < 2:
			errs = append(errs, fmt.Errorf("%s: healthcheck has no command", name))
		}
	}
	return errs
}

func checkDependsOn(c *composeFile) []error {
	var errs []error
	for _, name := range sortedNames(c) {
		for dep, cond := range c.Services[name].DependsOn {
			if _, ok := c.Services[dep]; !ok {
				errs = append(errs, fmt.Errorf("%s: depends on %q, which is not a service", name, dep))
			}
			if cond != "service_healthy" {
				errs = append(errs, fmt.Errorf("%s: depends on %s with condition %q; want service_healthy", name, dep, cond))
			}
		}
	}
	return errs
}

// endpoint is a host and port a service is reached at.
type endpoint struct{ host, port string }

func (e endpoint) String() string { return net.JoinHostPort(e.host, e.port) }

// kafkaEndpoints reads the advertised listeners of the kafka service.
func kafkaEndpoints(s *service) map[endpoint]bool {
	out := map[endpoint]bool{}
	for _, l := range strings.Split(s.Environment["KAFKA_ADVERTISED_LISTENERS"], ",") {
		_, hp, ok := strings.Cut(strings.TrimSpace(l), "://")
		if !ok {
			continue
		}
		if h, p, err := net.SplitHostPort(hp); err == nil {
			out[endpoint{h, p}] = true
		}
	}
	return out
}

// urlPort is the port in a listener URL such as http://0.0.0.0:8081.
func urlPort(raw string) string {
	u, err := url.Parse(strings.TrimSpace(strings.Split(raw, ",")[0]))
	if err != nil {
		return ""
	}
	return u.Port()
}

// wiring: one variable of one service must point at another service.
type wiring struct {
	role role   // the service holding the variable
	env  string // the variable
	kind string // "brokers", "url"
	to   role   // the service it must reach
	// port the target listens on, from the target's own settings ("" = any)
	port func(c *composeFile, target *service) string
}

func registryPort(_ *composeFile, s *service) string {
	return urlPort(s.Environment["SCHEMA_REGISTRY_LISTENERS"])
}

func fixedPort(p string) func(*composeFile, *service) string {
	return func(*composeFile, *service) string { return p }
}

var wirings = func() []wiring {
	w := []wiring{
		{kafkaUIRole, "KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS", "brokers", kafkaRole, nil},
		{kafkaUIRole, "KAFKA_CLUSTERS_0_SCHEMAREGISTRY", "url", registryRole, registryPort},
		{registryRole, "SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS", "brokers", kafkaRole, nil},
	}
	for _, r := range sluiceRoles {
		w = append(w,
			wiring{r, "KAFKA_BROKERS", "brokers", kafkaRole, nil},
			wiring{r, "SCHEMA_REGISTRY_URL", "url", registryRole, registryPort},
			wiring{r, "REDIS_URL", "url", redisRole, fixedPort("6379")},
			wiring{r, "DATABASE_URL", "url", postgresRole, fixedPort("5432")},
		)
	}
	return w
}()

func checkWiring(c *composeFile) []error {
	var errs []error
	for _, w := range wirings {
		from, err := c.find(w.role)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		to, err := c.find(w.to)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s.%s: %w", from, w.env, err))
			continue
		}
		src, dst := c.Services[from], c.Services[to]
		val, ok := src.Environment[w.env]
		if !ok || val == "" {
			errs = append(errs, fmt.Errorf("%s: %s is not set; it must point at %s", from, w.env, to))
			continue
		}
		switch w.kind {
		case "brokers":
			adv := kafkaEndpoints(dst)
			for _, b := range strings.Split(val, ",") {
				b = strings.TrimSpace(b)
				if _, hp, ok := strings.Cut(b, "://"); ok {
					b = hp
				}
				h, p, err := net.SplitHostPort(b)
				if err != nil || !adv[endpoint{h, p}] {
					errs = append(errs, fmt.Errorf("%s: %s=%s: %q is not a listener %s advertises (%v)", from, w.env, val, b, to, keys(adv)))
				}
			}
		case "url":
			u, err := url.Parse(val)
			if err != nil || u.Hostname() == "" {
				errs = append(errs, fmt.Errorf("%s: %s=%q is not a URL with a host", from, w.env, val))
				continue
			}
			if u.Hostname() != to {
				errs = append(errs, fmt.Errorf("%s: %s=%s points at host %q; the %s service is %q", from, w.env, val, u.Hostname(), w.to.name, to))
			}
			if w.port != nil {
				if want := w.port(c, dst); want != "" && u.Port() != want {
					errs = append(errs, fmt.Errorf("%s: %s=%s uses port %q; %s listens on %q", from, w.env, val, u.Port(), to, want))
				}
			}
			if w.to.name == postgresRole.name {
				errs = append(errs, checkPostgresCredentials(from, w.env, u, dst)...)
			}
		}
		// What a service talks to must be up before it starts.
		if cond, ok := src.DependsOn[to]; !ok || cond != "service_healthy" {
			errs = append(errs, fmt.Errorf("%s: uses %s (%s) but does not depend on it with condition service_healthy", from, to, w.env))
		}
	}
	return errs
}

func checkPostgresCredentials(from, env string, u *url.URL, pg *service) []error {
	var errs []error
	pw, _ := u.User.Password()
	want := map[string]string{
		"POSTGRES_USER":     u.User.Username(),
		"POSTGRES_PASSWORD": pw,
		"POSTGRES_DB":       strings.TrimPrefix(u.Path, "/"),
	}
	for k, v := range want {
		if pg.Environment[k] != v {
			errs = append(errs, fmt.Errorf("%s: %s says %s=%q but postgres has %s=%q", from, env, strings.ToLower(strings.TrimPrefix(k, "POSTGRES_")), v, k, pg.Environment[k]))
		}
	}
	return errs
}

// checkSluiceRoles: each role is built from deploy/Dockerfile with the
// repository as context, and reads its catalog from a mounted directory that
// exists in the repository.
func checkSluiceRoles(c *composeFile) []error {
	var errs []error
	for _, r := range sluiceRoles {
		name, err := c.find(r)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s := c.Services[name]
		if s.Build == nil || filepath.Clean(s.Build.Context) != "." || filepath.ToSlash(filepath.Clean(s.Build.Dockerfile)) != composeDockerfile {
			errs = append(errs, fmt.Errorf("%s: must build from context . with dockerfile %s, got %+v", name, composeDockerfile, s.Build))
		}
		if s.Healthcheck != nil && !strings.Contains(strings.Join(s.Healthcheck.Test, " "), ":8082/") {
			errs = append(errs, fmt.Errorf("%s: healthcheck does not ask the ops port 8082: %v", name, s.Healthcheck.Test))
		}
		if ops := s.Environment["SLUICE_OPS_ADDR"]; !strings.HasSuffix(ops, ":8082") || strings.HasPrefix(ops, "127.") {
			errs = append(errs, fmt.Errorf("%s: SLUICE_OPS_ADDR=%q; want :8082 on every interface", name, ops))
		}
		cfg := s.Environment["SLUICE_CONFIG"]
		if cfg == "" {
			errs = append(errs, fmt.Errorf("%s: SLUICE_CONFIG is not set", name))
			continue
		}
		if err := mountedFile(s, cfg); err != nil {
			errs = append(errs, fmt.Errorf("%s: SLUICE_CONFIG=%s: %w", name, cfg, err))
		}
	}
	return errs
}

// mountedFile: path inside the container comes from a bind mount of a
// repository path that exists.
func mountedFile(s *service, path string) error {
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) < 2 || !strings.HasPrefix(parts[0], ".") {
			continue
		}
		src, dst := parts[0], parts[1]
		rel, err := filepath.Rel(dst, path)
		if err != nil || strings.HasPrefix(rel, "..") {
			continue
		}
		host := filepath.Join("..", src, rel) // the compose file is one level up
		if _, err := os.Stat(host); err != nil {
			return fmt.Errorf("mounted from %s, but %s does not exist", src, host)
		}
		return nil
	}
	return errors.New("no bind mount from the repository provides it")
}

func sortedNames(c *composeFile) []string {
	names := make([]string, 0, len(c.Services))
	for n := range c.Services {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func keys(m map[endpoint]bool) []string {
	var out []string
	for e := range m {
		out = append(out, e.String())
	}
	slices.Sort(out)
	return out
}

type check struct {
	name string
	fn   func(*composeFile) []error
}

var checks = []check{
	{"required services", checkRequiredServices},
	{"pinned images", checkPinnedImages},
	{"healthchecks", checkHealthchecks},
	{"depends_on", checkDependsOn},
	{"wiring", checkWiring},
	{"sluice roles", checkSluiceRoles},
}

func TestCompose(t *testing.T) {
	c := loadCompose(t)
	for _, ch := range checks {
		t.Run(ch.name, func(t *testing.T) {
			for _, err := range ch.fn(c) {
				t.Error(err)
			}
		})
	}
}

// TestChecksCatch breaks a fresh copy of the real file in one way per case
// and expects the named check to notice: the checks above can fail.
func TestChecksCatch(t *testing.T) {
	svc := func(c *composeFile, r role) *service {
		t.Helper()
		name, err := c.find(r)
		if err != nil {
			t.Fatal(err)
		}
		return c.Services[name]
	}
	cases := []struct {
		name   string
		check  string
		want   string // in one of the errors
		mutate func(c *composeFile)
	}{
		{"schema registry missing", "required services", "no service is the schema registry", func(c *composeFile) {
			name, _ := c.find(registryRole)
			delete(c.Services, name)
		}},
		{"deliver role missing", "required services", "sluice deliver", func(c *composeFile) {
			svc(c, sluiceRoles[2]).Command = stringList{"something-else"}
		}},
		{"redis on latest", "pinned images", "moving tag", func(c *composeFile) {
			svc(c, redisRole).Image = "redis:latest"
		}},
		{"kafka-ui without a tag", "pinned images", "no tag", func(c *composeFile) {
			svc(c, kafkaUIRole).Image = "ghcr.io/kafbat/kafka-ui"
		}},
		{"postgres without healthcheck", "healthchecks", "postgres", func(c *composeFile) {
			svc(c, postgresRole).Healthcheck = nil
		}},
		{"healthcheck disabled", "healthchecks", "disabled", func(c *composeFile) {
			svc(c, kafkaRole).Healthcheck = &healthcheck{Test: healthTest{"NONE"}}
		}},
		{"depends_on only started", "depends_on", "service_started", func(c *composeFile) {
			svc(c, kafkaUIRole).DependsOn["kafka"] = "service_started"
		}},
		{"depends_on unknown service", "depends_on", "not a service", func(c *composeFile) {
			svc(c, sluiceRoles[0]).DependsOn["zookeeper"] = "service_healthy"
		}},
		{"kafka-ui without schema registry", "wiring", "KAFKA_CLUSTERS_0_SCHEMAREGISTRY is not set", func(c *composeFile) {
			delete(svc(c, kafkaUIRole).Environment, "KAFKA_CLUSTERS_0_SCHEMAREGISTRY")
		}},
		{"kafka-ui registry on another host", "wiring", "points at host \"registry\"", func(c *composeFile) {
			svc(c, kafkaUIRole).Environment["KAFKA_CLUSTERS_0_SCHEMAREGISTRY"] = "http://registry:8081"
		}},
		{"registry URL on the wrong port", "wiring", "uses port \"8085\"", func(c *composeFile) {
			svc(c, sluiceRoles[1]).Environment["SCHEMA_REGISTRY_URL"] = "http://schema-registry:8085"
		}},
		{"brokers on the host listener", "wiring", "not a listener", func(c *composeFile) {
			svc(c, sluiceRoles[0]).Environment["KAFKA_BROKERS"] = "localhost:29092"
		}},
		{"redis URL at a missing service", "wiring", "points at host \"cache\"", func(c *composeFile) {
			svc(c, sluiceRoles[2]).Environment["REDIS_URL"] = "redis://cache:6379/0"
		}},
		{"database password differs", "wiring", "password", func(c *composeFile) {
			svc(c, sluiceRoles[0]).Environment["DATABASE_URL"] = "postgres://sluice:secret@postgres:5432/sluice"
		}},
		{"role does not wait for redis", "wiring", "does not depend on it", func(c *composeFile) {
			name, _ := c.find(redisRole)
			delete(svc(c, sluiceRoles[1]).DependsOn, name)
		}},
		{"role built from another Dockerfile", "sluice roles", "must build from", func(c *composeFile) {
			svc(c, sluiceRoles[0]).Build = &build{Context: ".", Dockerfile: "Dockerfile"}
		}},
		{"catalog not mounted", "sluice roles", "no bind mount", func(c *composeFile) {
			svc(c, sluiceRoles[2]).Volumes = nil
		}},
		{"catalog missing in the repository", "sluice roles", "does not exist", func(c *composeFile) {
			svc(c, sluiceRoles[1]).Environment["SLUICE_CONFIG"] = "/etc/sluice/nope.yaml"
		}},
		{"ops port on loopback", "sluice roles", "SLUICE_OPS_ADDR", func(c *composeFile) {
			svc(c, sluiceRoles[0]).Environment["SLUICE_OPS_ADDR"] = "127.0.0.1:8082"
		}},
	}
	byName := map[string]check{}
	for _, ch := range checks {
		byName[ch.name] = ch
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ch, ok := byName[tc.check]
			if !ok {
				t.Fatalf("no check %q", tc.check)
			}
			c := loadCompose(t)
			if errs := ch.fn(c); len(errs) != 0 {
				t.Fatalf("check %q fails before breaking anything: %v", tc.check, errs)
			}
			tc.mutate(c)
			errs := ch.fn(c)
			if len(errs) == 0 {
				t.Fatalf("check %q did not notice", tc.check)
			}
			var all []string
			for _, err := range errs {
				all = append(all, err.Error())
			}
			if !strings.Contains(strings.Join(all, "\n"), tc.want) {
				t.Errorf("check %q said %q; want an error containing %q", tc.check, all, tc.want)
			}
		})
	}
}

func TestComposeSpellings(t *testing.T) {
	// The other spellings Compose allows decode to the same thing.
	c, err := parseCompose([]byte(`
services:
  a:
    image: x:1
    build: .
    command: deliver --lane batch
    environment: ["K=v", "EMPTY="]
    depends_on: [b]
    healthcheck: {test: "redis-cli ping"}
  b:
    image: y:2
`))
	if err != nil {
		t.Fatal(err)
	}
	a := c.Services["a"]
	if a.Build == nil || a.Build.Context != "." {
		t.Errorf("build: got %+v", a.Build)
	}
	if !slices.Equal(a.Command, []string{"deliver", "--lane", "batch"}) {
		t.Errorf("command: got %q", a.Command)
	}
	if a.Environment["K"] != "v" || a.Environment["EMPTY"] != "" {
		t.Errorf("environment: got %v", a.Environment)
	}
	if !slices.Equal(a.Healthcheck.Test, []string{"CMD-SHELL", "redis-cli ping"}) {
		t.Errorf("healthcheck test: got %q", a.Healthcheck.Test)
	}
	if cond, ok := a.DependsOn["b"]; !ok || cond != "" {
		t.Errorf("depends_on: got %v", a.DependsOn)
	}
	if errs := checkDependsOn(c); len(errs) == 0 {
		t.Error("a short depends_on list (no condition) passed the depends_on check")
	}
}

func TestSplitImage(t *testing.T) {
	for _, tc := range []struct {
		in                string
		repo, tag, digest string
		pinned            bool
	}{
		{"apache/kafka:4.4.0", "apache/kafka", "4.4.0", "", true},
		{"redis", "redis", "", "", false},
		{"redis:latest", "redis", "latest", "", false},
		{"ghcr.io/kafbat/kafka-ui:v1.5.0", "kafbat/kafka-ui", "v1.5.0", "", true},
		{"localhost:5000/sluice", "sluice", "", "", false},
		{"localhost:5000/sluice:1.2", "sluice", "1.2", "", true},
		{"postgres@sha256:abc", "postgres", "", "sha256:abc", true},
		{"${KAFKA_IMAGE}", "${KAFKA_IMAGE}", "", "", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			repo, tag, digest := splitImage(tc.in)
			if repo != tc.repo || tag != tc.tag || digest != tc.digest {
				t.Errorf("splitImage(%q) = %q, %q, %q; want %q, %q, %q", tc.in, repo, tag, digest, tc.repo, tc.tag, tc.digest)
			}
			if err := pinned(tc.in); (err == nil) != tc.pinned {
				t.Errorf("pinned(%q) = %v; want pinned=%v", tc.in, err, tc.pinned)
			}
		})
	}
}

// dockerfileStages reads FROM lines and the last stage's instructions.
func dockerfileStages(data []byte) (froms []string, last []string) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	var cont string
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cont += strings.TrimSuffix(line, "\\") + " "
			continue
		}
		line, cont = cont+line, ""
		fields := strings.Fields(line)
		if strings.EqualFold(fields[0], "FROM") {
			froms = append(froms, fields[1])
			last = nil
		}
		last = append(last, line)
	}
	return froms, last
}

func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile(dockerfilePath)
	if err != nil {
		t.Fatal(err)
	}
	froms, last := dockerfileStages(data)
	if len(froms) < 2 {
		t.Fatalf("want a multi-stage build, got FROM %v", froms)
	}
	for _, f := range froms {
		if err := pinned(f); err != nil {
			t.Errorf("FROM %s: %v", f, err)
		}
	}
	text := string(data)
	for _, want := range []string{"CGO_ENABLED=0", "./cmd/sluice", "COPY --from="} {
		if !strings.Contains(text, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	var user string
	for _, l := range last {
		if f := strings.Fields(l); strings.EqualFold(f[0], "USER") {
			user = f[1]
		}
	}
	if u, _, _ := strings.Cut(user, ":"); u == "" || u == "root" || u == "0" {
		t.Errorf("the runtime stage runs as %q; want a non-root USER", user)
	}
}

// TestScripts: the service scripts and the CI entry point parse, are
// executable, and CI runs the README's test command after starting services.
func TestScripts(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not found: cannot syntax-check the scripts")
	}
	scripts := []string{
		"local/kafka.sh", "local/redis.sh", "local/postgres.sh", "local/services.sh", "../.ci/run",
	}
	for _, s := range scripts {
		t.Run(s, func(t *testing.T) {
			fi, err := os.Stat(s)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode()&0o111 == 0 {
				t.Errorf("%s is not executable", s)
			}
			if out, err := exec.Command(bash, "-n", s).CombinedOutput(); err != nil {
				t.Errorf("bash -n %s: %v\n%s", s, err, out)
			}
			data, _ := os.ReadFile(s)
			if !bytes.Contains(data, []byte("set -euo pipefail")) {
				t.Errorf("%s does not set -euo pipefail", s)
			}
		})
	}
	ci, err := os.ReadFile("../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"deploy/local/services.sh start", "make test", "KAFKA_BROKERS", "REDIS_URL", "DATABASE_URL"} {
		if !bytes.Contains(ci, []byte(want)) {
			t.Errorf(".ci/run does not mention %q", want)
		}
	}
	if out, err := exec.Command(bash, "local/lib.sh").CombinedOutput(); err != nil {
		t.Errorf("sourcing lib.sh fails: %v\n%s", err, out)
	}
}
