package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/consumers/deliver/sink"
	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/devstack"
	"github.com/sluicehq/sluice/internal/ops"
	"github.com/sluicehq/sluice/internal/worker"
)

func newSinkCmd(g *globals) *cobra.Command {
	var dest, addr string
	var printBody bool
	cmd := &cobra.Command{
		Use:   "sink",
		Short: "Receive a destination's webhooks locally, check their signatures and print them",
		Long: `sink serves a local webhook receiver for a webhook destination of the
catalog: every request's Standard Webhooks signature is checked with the
destination's secrets (a whsk_ secret key checks the v1a signature with its
public half), answered 200 when good and 401 when not, and printed as one
line: time, webhook-id, event type, tenant, signature, answer, size.

It listens on the host and port of the destination's URL unless --addr
says otherwise; --print-body prints each body too (events carry personal
data: use it with test data).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			catalog, err := g.catalog()
			if err != nil {
				return err
			}
			d, err := sinkDestination(catalog, dest)
			if err != nil {
				return err
			}
			log, err := g.logger()
			if err != nil {
				return err
			}
			if addr == "" {
				if addr, err = sinkAddr(d); err != nil {
					return err
				}
			}
			k, err := newDestinationSink(d, cmd.OutOrStdout(), printBody)
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("sink: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "sink for destination %s listening on http://%s\n", d.ID, ln.Addr())
			return ops.Serve(cmd.Context(), ln, k, log.Named("sink"))
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&dest, "destination", "", "webhook destination of the catalog; default the first one on a private network")
	fl.StringVar(&addr, "addr", "", "listen address; default the host and port of the destination's URL")
	fl.BoolVar(&printBody, "print-body", false, "print each request's body")
	return cmd
}

// sinkDestination returns the webhook destination id, or, when id is
// empty, the first webhook destination allowed into private networks (a
// local receiver), else the first webhook destination.
func sinkDestination(c *config.Catalog, id string) (*config.Destination, error) {
	if id != "" {
		d, ok := c.Destination(id)
		if !ok {
			return nil, fmt.Errorf("sink: no destination %s in the catalog", id)
		}
		if d.Kind != config.DestinationWebhook {
			return nil, fmt.Errorf("sink: destination %s is of kind %s, not webhook", id, d.Kind)
		}
		return d, nil
	}
	var first *config.Destination
	for i := range c.Destinations {
		d := &c.Destinations[i]
		if d.Kind != config.DestinationWebhook {
			continue
		}
		if d.AllowPrivateNetwork {
			return d, nil
		}
		if first == nil {
			first = d
		}
	}
	if first == nil {
		return nil, fmt.Errorf("sink: the catalog has no webhook destination")
	}
	return first, nil
}

// sinkAddr is the host and port of the destination's URL.
func sinkAddr(d *config.Destination) (string, error) {
	u, err := url.Parse(d.URL)
	if err != nil {
		return "", fmt.Errorf("sink: destination %s: %w", d.ID, err)
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(host, port), nil
}

// newDestinationSink returns a sink checking signatures with d's secrets.
func newDestinationSink(d *config.Destination, out io.Writer, printBody bool) (*sink.Sink, error) {
	secrets, err := config.ResolveAll(d.Secrets)
	if err != nil {
		return nil, fmt.Errorf("sink: destination %s: %w", d.ID, err)
	}
	return sink.NewFromSecrets(secrets, sink.Print(out, printBody), sink.Stateless())
}

// addDevSink adds to sluice dev a sink for the catalog's local webhook
// destination (one allowed into private networks, on a loopback
// address), on the address of its URL, and returns lines with what dev
// prints about it. It adds nothing when there is none, or when its
// address is taken (something else, maybe a sluice sink, receives there).
func addDevSink(s *stack, out io.Writer, lines []started) ([]started, error) {
	d, err := sinkDestination(s.catalog, "")
	if err != nil || !d.AllowPrivateNetwork || !d.IsEnabled() {
		return lines, nil
	}
	addr, err := sinkAddr(d)
	if err != nil {
		return lines, nil
	}
	if host, _, _ := net.SplitHostPort(addr); host != "localhost" && !strings.HasPrefix(host, "127.") && host != "::1" {
		return lines, nil
	}
	k, err := newDestinationSink(d, out, false)
	if err != nil {
		return lines, err
	}
	ln, moved, err := devstack.Listen(addr, false)
	if err != nil || moved {
		if ln != nil {
			_ = ln.Close()
		}
		return append(lines, started{"webhook sink (" + d.ID + ")", addr, "NOT STARTED: the address is taken"}), nil
	}
	log := s.log.Named("sink")
	s.addWorker(worker.Func{N: "sink", F: func(ctx context.Context) error { return ops.Serve(ctx, ln, k, log) }})
	return append(lines, started{"webhook sink (" + d.ID + ")", d.URL, "checks signatures, prints each delivery"}), nil
}
