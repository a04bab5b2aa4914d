package images

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"github.com/distribution/reference"

	"github.com/sweval/sweval/benchmarks"
)

// Namespaces with a meaning of their own; any other value is a registry
// namespace such as "swebench", "docker.io/swebench" or "127.0.0.1:5000/ns".
const (
	// NamespaceNone: sweval builds its own layers (the default).
	NamespaceNone = "none"
	// NamespaceAuto: the publisher's namespace (swebench, or swerebench for
	// rows with an install_config), local or pulled, else built by sweval.
	NamespaceAuto = "auto"
	// NamespaceSWEBench and NamespaceSWERebench are the Docker Hub
	// namespaces of SWE-bench's and SWE-rebench's images.
	NamespaceSWEBench   = "swebench"
	NamespaceSWERebench = "swerebench"
)

// Published says where a task's published image is looked for: SWE-bench's
// --namespace, --instance-image-tag and --arch.
type Published struct {
	Namespace string // none (the zero value), auto, or a registry namespace
	Tag       string // default "latest"
	Arch      string // x86_64 or arm64; default: the host's
}

// DefaultArch is SWE-bench's name for the host's architecture.
func DefaultArch() string {
	if runtime.GOARCH == "arm64" {
		return "arm64"
	}
	return "x86_64"
}

// Normalize fills the defaults and checks the values, naming the flag at
// fault.
func (p Published) Normalize() (Published, error) {
	p.Namespace = strings.TrimSpace(p.Namespace)
	if p.Namespace == "" {
		p.Namespace = NamespaceNone
	}
	if p.Tag == "" {
		p.Tag = "latest"
	}
	if p.Arch == "" {
		p.Arch = DefaultArch()
	}
	switch p.Arch {
	case "x86_64", "arm64":
	default:
		return p, fmt.Errorf("--arch %q: use x86_64 or arm64 (SWE-bench's names)", p.Arch)
	}
	if !reference.TagRegexp.MatchString(p.Tag) || reference.TagRegexp.FindString(p.Tag) != p.Tag {
		return p, fmt.Errorf("--instance-image-tag %q is not a valid image tag", p.Tag)
	}
	if p.Enabled() && p.Namespace != NamespaceAuto {
		probe := p.Namespace + "/sweb.eval." + p.Arch + ".probe:" + p.Tag
		if _, err := reference.ParseNormalizedNamed(probe); err != nil {
			return p, fmt.Errorf("--namespace %q is not a registry namespace (e.g. swebench, docker.io/swebench, 127.0.0.1:5000/swebench): %w", p.Namespace, err)
		}
	}
	return p, nil
}

// Enabled reports whether published images are used at all.
func (p Published) Enabled() bool { return p.Namespace != "" && p.Namespace != NamespaceNone }

// MayBuild reports whether sweval may build a task's layers when its
// published image can be neither found nor pulled.
func (p Published) MayBuild() bool { return !p.Enabled() || p.Namespace == NamespaceAuto }

// SWEBenchImageName is SWE-bench's name for an instance's evaluation image
// (TestSpec.instance_image_key for a remote image):
// NS/sweb.eval.ARCH.<id lower-cased>:TAG with every "__" replaced by
// "_1776_", since Docker Hub forbids "__" in repository names.
func SWEBenchImageName(namespace, arch, tag, instanceID string) string {
	key := fmt.Sprintf("%s/sweb.eval.%s.%s:%s", namespace, arch, strings.ToLower(instanceID), tag)
	return strings.ReplaceAll(key, "__", "_1776_")
}

// ImageFor is the published image task runs in under p: the row's own
// image (OpenSWE's image_name, SWE-rebench's docker_image, DeNovoSWE's
// image) when it names one, else the SWE-bench name rule in p's namespace.
// It is "" when p is disabled and the row names no image, or for a Doc2Repo
// task without an image of its own (those run in sweval's env).
func (p Published) ImageFor(task benchmarks.Task) string {
	if task.ImageName != "" {
		return task.ImageName
	}
	if task.Doc2Repo != nil && task.Doc2Repo.Image != "" {
		return task.Doc2Repo.Image
	}
	if !p.Enabled() || task.Kind == benchmarks.KindDoc2Repo {
		return ""
	}
	ns := p.Namespace
	if ns == NamespaceAuto {
		ns = NamespaceSWEBench
		if task.Install != nil {
			ns = NamespaceSWERebench
		}
	}
	return SWEBenchImageName(ns, p.Arch, p.Tag, task.ID)
}

// ErrImageMissing marks a published image that is not present locally and
// could not be pulled, when sweval may not build instead.
var ErrImageMissing = errors.New("published image not available")

// MissingImageError names the image and the three ways to get it.
type MissingImageError struct {
	Image string
	Task  string
	Cause error // why the pull failed; nil when no pull was tried
}

func (e *MissingImageError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "image %s for %s is not present locally", e.Image, e.Task)
	if e.Cause != nil {
		fmt.Fprintf(&b, " and could not be pulled (%v)", e.Cause)
	}
	fmt.Fprintf(&b, "; get it one of three ways: pull it (sweval images pull, or docker pull %s, on a machine that reaches its registry), "+
		"load a saved copy (sweval images load DIR|FILE), or grade in sweval's own layers (--namespace none, or --namespace auto to build what is missing)", e.Image)
	return b.String()
}

func (e *MissingImageError) Unwrap() []error {
	if e.Cause != nil {
		return []error{ErrImageMissing, e.Cause}
	}
	return []error{ErrImageMissing}
}

// PublishedImage finds task's published image under p: present locally, else
// pulled. It returns (Ref{}, false, nil) when task has no published image
// under p (build sweval's layers instead), and a *MissingImageError when it
// has one that can be neither found nor pulled.
func (b *Builder) PublishedImage(ctx context.Context, task benchmarks.Task, p Published) (Ref, bool, error) {
	image := p.ImageFor(task)
	if image == "" {
		return Ref{}, false, nil
	}
	log := b.log.With("task", task.ID, "image", image)
	ok, err := b.present(ctx, image)
	if err != nil {
		return Ref{}, true, err
	}
	if !ok && !p.Enabled() {
		// --namespace none: a row's own image is used when it is already
		// here, never pulled; sweval builds instead.
		return Ref{}, false, nil
	}
	if !ok {
		if err := b.Pull(ctx, image); err != nil {
			if ctx.Err() != nil {
				return Ref{}, true, ctx.Err()
			}
			return Ref{}, true, &MissingImageError{Image: image, Task: task.ID, Cause: err}
		}
	} else {
		log.Info("using the published image present locally")
	}
	ref, err := b.Resolve(ctx, image)
	ref.Pulled = !ok
	return ref, true, err
}
