package sandbox

import (
	"context"
	"fmt"
	"maps"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	"github.com/distribution/reference"
)

// Credentials returns the user name and secret for a registry host, ""
// and "" for anonymous access (an empty user with a secret is an identity
// token), as containerd's resolver asks for them.
type Credentials func(host string) (user, secret string, err error)

// LabelRepoDigest is the image-record label of a pulled image that holds
// its registry digest (name@sha256:…).
const LabelRepoDigest = "sweval.repo-digest"

// PullImage fetches ref from its registry into the runtime's namespace,
// for this platform, and unpacks it into the snapshotter so containers
// can start from it; what is already in the content store is not fetched
// again (a killed pull resumes). Registries on loopback are spoken to over
// plain HTTP, as the Engine treats 127.0.0.0/8 as insecure. It returns
// the image's config digest.
func (c *Containerd) PullImage(ctx context.Context, ref string, creds Credentials) (string, error) {
	ctx = c.ns(ctx)
	ctx, done, err := c.cli.WithLease(ctx)
	if err != nil {
		return "", fmt.Errorf("pull %s: lease: %w", ref, err)
	}
	defer done(context.WithoutCancel(ctx))
	hosts := docker.ConfigureDefaultRegistries(
		docker.WithAuthorizer(docker.NewDockerAuthorizer(docker.WithAuthCreds(creds))),
		docker.WithPlainHTTP(docker.MatchLocalhost),
	)
	// The resolver wants a full name (docker.io/…); the image keeps the
	// one it was asked for, as the Engine's does.
	full := ref
	if named, err := reference.ParseDockerRef(ref); err == nil {
		full = named.String()
	}
	img, err := c.cli.Pull(ctx, full,
		containerd.WithResolver(docker.NewResolver(docker.ResolverOptions{Hosts: hosts})),
		containerd.WithPlatformMatcher(platforms.Default()),
		containerd.WithPullUnpack,
		containerd.WithPullSnapshotter(c.opts.Snapshotter),
	)
	if err != nil {
		return "", fmt.Errorf("pull %s: %w", ref, err)
	}
	// The registry's digest of what was pulled, as the Engine keeps it in
	// RepoDigests (a built image's manifest was never in a registry).
	is := c.cli.ImageService()
	labels := map[string]string{}
	maps.Copy(labels, img.Labels())
	if named, err := reference.ParseNormalizedNamed(ref); err == nil {
		labels[LabelRepoDigest] = reference.FamiliarName(named) + "@" + img.Target().Digest.String()
	}
	if _, err := is.Update(ctx, images.Image{Name: full, Target: img.Target(), Labels: labels}, "labels"); err != nil {
		return "", fmt.Errorf("pull %s: label it: %w", ref, err)
	}
	if full != ref {
		// A re-pull moves an existing name: its digest label moves with it.
		if err := c.putImage(ctx, images.Image{Name: ref, Target: img.Target(), Labels: labels}, "target", "labels."+LabelRepoDigest); err != nil {
			return "", fmt.Errorf("pull %s: name it: %w", ref, err)
		}
		if err := is.Delete(ctx, full); err != nil && !cerrdefs.IsNotFound(err) {
			return "", fmt.Errorf("pull %s: drop the name %s: %w", ref, full, err)
		}
	}
	cfg, err := img.Config(ctx)
	if err != nil {
		return "", fmt.Errorf("pull %s: read its config: %w", ref, err)
	}
	return cfg.Digest.String(), nil
}
