package resources

import "fmt"

// fieldErr names the parameter at fault, for Validate.
func fieldErr(field, format string, args ...any) error {
	return fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...))
}

// oneOf checks an enumerated parameter.
func oneOf(field, value string, allowed ...string) error {
	for _, a := range allowed {
		if value == a {
			return nil
		}
	}
	return fieldErr(field, "%q is not one of %q", value, allowed)
}
