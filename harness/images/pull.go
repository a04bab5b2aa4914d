package images

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/moby/moby/api/pkg/authconfig"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/client"
)

// Pull defaults.
const (
	DefaultPullConcurrency = 2
	DefaultPullRetries     = 4
	DefaultPullBackoff     = 2 * time.Second
)

// Pull fetches image through the Engine, with the credentials the standard
// Docker config holds for its registry ($DOCKER_CONFIG/config.json, else
// ~/.docker/config.json, including credential helpers). At most
// Options.PullConcurrency pulls run at once, whatever the number of
// workers; a failure that may pass (429, 5xx, a timeout, a reset
// connection) is retried with exponential backoff, one that will not
// (unknown image, denied) is returned at once. A pull is refused when the
// Engine's disk has less than Options.MinFreeDisk free.
func (b *Builder) Pull(ctx context.Context, image string) error {
	select {
	case b.pulls <- struct{}{}:
		defer func() { <-b.pulls }()
	case <-ctx.Done():
		return ctx.Err()
	}
	log := b.log.With("image", image)
	if err := b.checkDisk(ctx, image); err != nil {
		return err
	}
	pull, err := b.store.puller(ctx, image)
	if err != nil {
		return err
	}
	wait := b.opts.PullBackoff
	for attempt := 1; ; attempt++ {
		t0 := time.Now()
		err := pull(ctx)
		if err == nil {
			log.Info("pulled", "seconds", time.Since(t0).Round(time.Millisecond).Seconds(), "attempt", attempt)
			// Only images in the ledger are ever removed to save disk.
			if err := b.recordPull(ctx, image); err != nil {
				log.Warn("could not record the pull; --cache-level and --max-image-disk will leave this image alone", "err", err)
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !retriable(err) || attempt > b.opts.PullRetries {
			if attempt > 1 {
				return fmt.Errorf("pull %s (gave up after %d attempts): %w", image, attempt, err)
			}
			return fmt.Errorf("pull %s: %w", image, err)
		}
		log.Warn("pull failed; retrying", "attempt", attempt, "in", wait, "err", err)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
		wait *= 2
	}
}

// puller reads image's registry credentials once and returns one pull
// attempt through the Engine.
func (s dockerStore) puller(ctx context.Context, image string) (func(context.Context) error, error) {
	auth, err := registryAuth(ctx, image)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error { return s.b.pullOnce(ctx, image, auth) }, nil
}

// puller returns one pull attempt through containerd's resolver, with the
// credentials of the standard Docker config (asked per registry host).
func (s ctrStore) puller(ctx context.Context, image string) (func(context.Context) error, error) {
	if _, err := name.ParseReference(image, name.WeakValidation); err != nil {
		return nil, fmt.Errorf("image %q is not a valid reference: %w", image, err)
	}
	creds := func(host string) (string, string, error) {
		if host == "registry-1.docker.io" {
			host = name.DefaultRegistry // the Docker config's key for Docker Hub
		}
		reg, err := name.NewRegistry(host, name.WeakValidation)
		if err != nil {
			return "", "", err
		}
		a, err := authn.Resolve(ctx, authn.DefaultKeychain, reg)
		if err != nil || a == authn.Anonymous {
			return "", "", err
		}
		c, err := authn.Authorization(ctx, a)
		if err != nil {
			return "", "", fmt.Errorf("get registry credentials for %s (credential helper): %w", host, err)
		}
		if c.IdentityToken != "" {
			return "", c.IdentityToken, nil
		}
		return c.Username, c.Password, nil
	}
	return func(ctx context.Context) error {
		lf, err := s.b.openLog(image)
		if err != nil {
			return err
		}
		defer lf.Close()
		t0 := time.Now()
		id, err := s.rt.PullImage(ctx, image, creds)
		if err != nil {
			fmt.Fprintf(lf, "ERROR: %v\n", err)
			return err
		}
		fmt.Fprintf(lf, "pulled %s (%s) into containerd in %s\n", image, id, time.Since(t0).Round(time.Millisecond))
		return nil
	}, nil
}

// pullOnce runs one pull to its end, writing the Engine's messages to the
// image's log and returning the first error the stream reports.
func (b *Builder) pullOnce(ctx context.Context, image, auth string) error {
	resp, err := b.cli.ImagePull(ctx, image, client.ImagePullOptions{RegistryAuth: auth})
	if err != nil {
		return err
	}
	defer resp.Close()
	lf, err := b.openLog(image)
	if err != nil {
		return err
	}
	defer lf.Close()
	return drainPull(resp, lf)
}

// drainPull reads a pull's JSON messages, logging one line per layer state
// change (not every progress tick), and returns the stream's error.
func drainPull(r io.Reader, log io.Writer) error {
	dec := json.NewDecoder(r)
	last := map[string]string{}
	for {
		var m jsonstream.Message
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read Engine pull response: %w", err)
		}
		if m.Error != nil {
			fmt.Fprintf(log, "ERROR: %s\n", m.Error.Message)
			return errors.New(m.Error.Message)
		}
		if m.Status != "" && last[m.ID] != m.Status {
			last[m.ID] = m.Status
			fmt.Fprintf(log, "%s %s\n", m.Status, m.ID)
		}
	}
}

// registryAuth is the X-Registry-Auth value for image's registry from the
// standard Docker config; "" (anonymous) when it has none.
func registryAuth(ctx context.Context, image string) (string, error) {
	ref, err := name.ParseReference(image, name.WeakValidation)
	if err != nil {
		return "", fmt.Errorf("image %q is not a valid reference: %w", image, err)
	}
	reg := ref.Context().Registry
	a, err := authn.Resolve(ctx, authn.DefaultKeychain, reg)
	if err != nil {
		return "", fmt.Errorf("read registry credentials for %s from the Docker config (check $DOCKER_CONFIG or ~/.docker/config.json and its credential helpers): %w", reg.RegistryStr(), err)
	}
	if a == authn.Anonymous {
		return "", nil
	}
	c, err := authn.Authorization(ctx, a)
	if err != nil {
		return "", fmt.Errorf("get registry credentials for %s (credential helper): %w", reg.RegistryStr(), err)
	}
	return authconfig.Encode(registry.AuthConfig{
		Username:      c.Username,
		Password:      c.Password,
		Auth:          c.Auth,
		IdentityToken: c.IdentityToken,
		RegistryToken: c.RegistryToken,
		ServerAddress: reg.RegistryStr(),
	})
}

// retriable tells a failure that may pass from one that will not.
func retriable(err error) bool {
	if cerrdefs.IsNotFound(err) || cerrdefs.IsUnauthorized(err) || cerrdefs.IsPermissionDenied(err) ||
		cerrdefs.IsInvalidArgument(err) {
		return false
	}
	msg := strings.ToLower(err.Error())
	for _, s := range []string{"manifest unknown", "not found", "unauthorized", "denied", "invalid reference", "no matching manifest"} {
		if strings.Contains(msg, s) {
			return false
		}
	}
	return true
}
