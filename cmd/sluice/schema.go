package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sluicehq/sluice/avro"
	"github.com/sluicehq/sluice/avro/registry"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/kafka"
)

// schemaFlags are shared by the schema subcommands.
type schemaFlags struct {
	registry string
	dir      string
}

func newSchemaCmd(g *globals) *cobra.Command {
	f := &schemaFlags{}
	cmd := &cobra.Command{
		Use:   "schema",
		Short: "Register, check, list and show sluice's Avro contracts",
		Long: `schema works with the Avro contracts: the ones compiled into sluice, or the
.avsc files under --dir (e.g. avro/schemas of a checkout you are editing).

Subjects follow the topic-record name strategy, "<topic>-<record full name>".
The topics come from the catalog (--config) when it can be read: each
integration's event records on sluice.in.<integration>, and the canonical
events on sluice.canonical.<object> and its batch lane. Without a catalog,
each event is bound to its default topic.

check is meant for a contract test in CI: it exits 1, with the registry's
reasons, when a local schema would break compatibility with what the
registry holds.`,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.registry, "registry", envOr(g.getenv, "SCHEMA_REGISTRY_URL", "http://127.0.0.1:8081"), "schema registry URL (env SCHEMA_REGISTRY_URL)")
	pf.StringVar(&f.dir, "dir", "", "read .avsc files from this directory instead of the compiled-in contracts")
	cmd.AddCommand(
		&cobra.Command{
			Use:   "register [FILE...]",
			Short: "Register the contracts (all, or those defined in FILE) under their subjects",
			RunE: func(cmd *cobra.Command, args []string) error {
				bindings, cl, err := f.setup(g, args)
				if err != nil {
					return err
				}
				regs, err := avro.Register(cmd.Context(), cl, bindings...)
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "SUBJECT\tID\tVERSION")
				for _, r := range regs {
					fmt.Fprintf(w, "%s\t%d\t%d\n", r.Subject, r.ID, r.Version)
				}
				w.Flush()
				return err
			},
		},
		&cobra.Command{
			Use:   "check [FILE...]",
			Short: "Check that the contracts are compatible with what the registry holds; exit 1 if not",
			RunE: func(cmd *cobra.Command, args []string) error {
				bindings, cl, err := f.setup(g, args)
				if err != nil {
					return err
				}
				res, err := avro.CheckCompatibility(cmd.Context(), cl, bindings...)
				if err != nil {
					return err
				}
				if printCompatibility(cmd.OutOrStdout(), res) {
					return exitCode(1)
				}
				return nil
			},
		},
		&cobra.Command{
			Use:   "list",
			Short: "List the contracts with their subjects, and what the registry holds for each",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				bindings, cl, err := f.setup(g, nil)
				if err != nil {
					return err
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "SUBJECT\tRECORD\tFILE\tREGISTERED")
				for _, b := range bindings {
					state := "no"
					ss, err := cl.SchemaByVersion(cmd.Context(), b.Subject, -1)
					switch {
					case err == nil:
						state = fmt.Sprintf("version %d, id %d", ss.Version, ss.ID)
					case !registry.IsNotFound(err):
						return fmt.Errorf("%s: %w", b.Subject, err)
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", b.Subject, b.Schema.Name, b.Schema.File, state)
				}
				return w.Flush()
			},
		},
		&cobra.Command{
			Use:   "show NAME|SUBJECT",
			Short: "Show a contract by record name, or the registry's latest schema of a subject",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				schemas, err := f.schemas()
				if err != nil {
					return err
				}
				text := ""
				if s, ok := schemas.Lookup(args[0]); ok {
					text = s.Text()
				} else {
					cl, err := registryClient(g.getenv, f.registry)
					if err != nil {
						return err
					}
					ss, err := cl.SchemaByVersion(cmd.Context(), args[0], -1)
					if err != nil {
						if registry.IsNotFound(err) {
							return fmt.Errorf("%q is neither a record of the contracts nor a subject of the registry", args[0])
						}
						return err
					}
					text = ss.Schema.Schema
				}
				return printJSON(cmd.OutOrStdout(), text)
			},
		},
	)
	return cmd
}

func (f *schemaFlags) schemas() (*avro.Schemas, error) {
	if f.dir == "" {
		return avro.LoadSchemas()
	}
	return avro.LoadSchemasFS(os.DirFS(f.dir))
}

// setup loads the contracts, binds them to their topics (only those
// defined in files, when files are given) and connects the registry.
func (f *schemaFlags) setup(g *globals, files []string) ([]avro.Binding, *sr.Client, error) {
	schemas, err := f.schemas()
	if err != nil {
		return nil, nil, err
	}
	catalog, err := config.Load(g.config)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, nil, err
	}
	bindings, err := schemaBindings(schemas, catalog, g.ns)
	if err != nil {
		return nil, nil, err
	}
	if len(files) > 0 {
		if bindings, err = f.only(bindings, files); err != nil {
			return nil, nil, err
		}
	}
	cl, err := registryClient(g.getenv, f.registry)
	if err != nil {
		return nil, nil, err
	}
	return bindings, cl, nil
}

// schemaBindings binds every event record to the topics it is written to
// in namespace ns: the catalog's integrations and both lanes of the
// canonical topics. With no catalog, each event is bound to its default
// topic.
func schemaBindings(schemas *avro.Schemas, catalog *config.Catalog, ns kafka.Namespace) ([]avro.Binding, error) {
	var out []avro.Binding
	if catalog == nil {
		for _, b := range schemas.DefaultBindings() {
			b, err := schemas.Bind(ns.Name(b.Topic), b.Schema.Name)
			if err != nil {
				return nil, err
			}
			out = append(out, b)
		}
		return out, nil
	}
	for _, in := range catalog.Integrations {
		for _, e := range in.Contract.Events {
			b, err := schemas.Bind(ns.Name(kafka.InTopic(in.ID)), e.Record)
			if err != nil {
				return nil, fmt.Errorf("integration %s: %w", in.ID, err)
			}
			out = append(out, b)
		}
	}
	for _, s := range schemas.Events() {
		if s.Source != avro.SourceCanonical {
			continue
		}
		object := strings.TrimPrefix(s.Topic, kafka.CanonicalTopic(""))
		for _, topic := range []string{kafka.CanonicalTopic(object), kafka.CanonicalBatchTopic(object)} {
			b, err := schemas.Bind(ns.Name(topic), s.Name)
			if err != nil {
				return nil, err
			}
			out = append(out, b)
		}
	}
	slices.SortFunc(out, func(a, b avro.Binding) int { return strings.Compare(a.Subject, b.Subject) })
	return slices.CompactFunc(out, func(a, b avro.Binding) bool { return a.Subject == b.Subject }), nil
}

// only keeps the bindings of records defined in files. A file is named by
// its path under the schema directory, or by a path that ends with it.
func (f *schemaFlags) only(bindings []avro.Binding, files []string) ([]avro.Binding, error) {
	var out []avro.Binding
	for _, file := range files {
		rel := filepath.ToSlash(file)
		if f.dir != "" {
			if r, err := filepath.Rel(f.dir, file); err == nil && !strings.HasPrefix(r, "..") {
				rel = filepath.ToSlash(r)
			}
		}
		n := len(out)
		for _, b := range bindings {
			if b.Schema.File == rel || strings.HasSuffix(rel, "/"+b.Schema.File) {
				out = append(out, b)
			}
		}
		if len(out) == n {
			return nil, fmt.Errorf("%s defines no event record of the contracts (event records are those with envelope and data)", file)
		}
	}
	return out, nil
}

// printCompatibility prints one line per subject and the reasons of each
// incompatibility; it reports whether any was incompatible.
func printCompatibility(out io.Writer, res []avro.Compatibility) bool {
	bad := false
	for _, r := range res {
		switch {
		case r.NewSubject:
			fmt.Fprintf(out, "NEW           %s\n", r.Subject)
		case r.Compatible:
			fmt.Fprintf(out, "COMPATIBLE    %s\n", r.Subject)
		default:
			bad = true
			fmt.Fprintf(out, "INCOMPATIBLE  %s (%s)\n", r.Subject, r.Schema.File)
			for _, m := range r.Messages {
				fmt.Fprintf(out, "    - %s\n", m)
			}
		}
	}
	if bad {
		fmt.Fprintln(out, "\nsome contracts would break compatibility with what the registry holds")
	}
	return bad
}

func printJSON(out io.Writer, text string) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, []byte(text), "", "  "); err != nil {
		_, err := fmt.Fprintln(out, text)
		return err
	}
	buf.WriteByte('\n')
	_, err := buf.WriteTo(out)
	return err
}
