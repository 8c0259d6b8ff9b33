package harness

import "os/exec"

// errKcatMissing is reported like the other missing Debian tools: the test
// skips unless ZABKAFKA_REQUIRE_APACHE=1.
type errKcatMissing struct{}

func (errKcatMissing) Error() string { return "kcat is not installed (apt-get install kcat)" }

func (errKcatMissing) Is(target error) bool { return target == ErrApacheNotInstalled }

// kcatPath finds Debian's kcat (or its old name, kafkacat).
func kcatPath() (string, error) {
	for _, name := range []string{"kcat", "kafkacat"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errKcatMissing{}
}
