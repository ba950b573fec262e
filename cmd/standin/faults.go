package main

import (
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/standin-dev/standin/server/client"
)

// faultFlagHelp documents --fault.
const faultFlagHelp = `ask for a fault on purpose (repeatable): duplicate[=P], duplicate-count=N, delay=2s, ` +
	`delay-probability=P, bad-signature[=P], bad-signature-secret=previous, extra-fields[=P], reorder, seed=N ` +
	`(P a probability, default 1); ` +
	`replaces the webhooks' faults for these deliveries; --fault none asks for none`

// addFaultFlag adds --fault to cmd.
func addFaultFlag(cmd *cobra.Command, faults *[]string) {
	cmd.Flags().StringArrayVar(faults, "fault", nil, faultFlagHelp)
}

// parseFaults turns --fault values into the API's faults: nil when none was
// given, {} for "none". The API validates the values' ranges.
func parseFaults(values []string) (*client.Faults, error) {
	if len(values) == 0 {
		return nil, nil
	}
	f := &client.Faults{}
	for _, v := range values {
		name, val, hasVal := strings.Cut(strings.TrimSpace(v), "=")
		prob := func() (float64, error) {
			if !hasVal {
				return 1, nil
			}
			p, err := strconv.ParseFloat(val, 64)
			if err != nil {
				return 0, usageErr("--fault %s: %q is not a probability (0 to 1)", name, val)
			}
			return p, nil
		}
		var err error
		switch name {
		case "none":
		case "duplicate":
			f.Duplicate, err = prob()
		case "duplicate-count":
			f.DuplicateCount, err = strconv.Atoi(val)
		case "delay":
			f.Delay = val
			if !hasVal {
				err = usageErr("--fault delay needs a duration, e.g. delay=2s")
			}
		case "delay-probability":
			f.DelayProbability, err = prob()
		case "bad-signature":
			f.BadSignature, err = prob()
		case "bad-signature-secret":
			f.BadSignatureSecret = val
		case "extra-fields":
			f.ExtraFields, err = prob()
		case "reorder":
			f.Reorder = true
		case "seed":
			f.Seed, err = strconv.ParseInt(val, 10, 64)
		default:
			return nil, usageErr("--fault %q: want duplicate, duplicate-count, delay, delay-probability, bad-signature, bad-signature-secret, extra-fields, reorder, seed or none", v)
		}
		if err != nil {
			if _, ok := err.(*exitError); ok {
				return nil, err
			}
			return nil, usageErr("--fault %s: %q is not a number", name, val)
		}
	}
	return f, nil
}
