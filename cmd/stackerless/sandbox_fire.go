package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/spf13/cobra"
)

func newSandboxFireCommand() *cobra.Command {
	var endpoint string
	cmd := &cobra.Command{
		Use:   "fire ARN",
		Short: "Fire a schedule of a running sandbox now",
		Long: `Fire a schedule of a running sandbox now, as if its time had come: an
EventBridge Scheduler schedule (arn:aws:scheduler:<region>:<account>:schedule/<group>/<name>)
or an EventBridge rule with a ScheduleExpression (arn:aws:events:<region>:<account>:rule/<name>).
Its targets are called as on time (a state machine is started under the
target's role); its timetable is unchanged.

It signs with the usual AWS credentials (AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY from the sandbox's banner, or a profile) and may fire
only that account's schedules. The sandbox is AWS_ENDPOINT_URL, or --endpoint-url.
It prints one line per target: the target, then the execution started or the
error, and fails if a delivery failed.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return fireSchedule(cmd, endpoint, args[0]) },
	}
	cmd.Flags().StringVar(&endpoint, "endpoint-url", "", "the sandbox's URL (default: AWS_ENDPOINT_URL)")
	return cmd
}

func fireSchedule(cmd *cobra.Command, endpoint, arn string) error {
	ctx := cmd.Context()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("fire %s: load AWS configuration: %w", arn, err)
	}
	if endpoint == "" {
		endpoint = aws.ToString(cfg.BaseEndpoint)
	}
	if endpoint == "" {
		return fmt.Errorf("fire %s: no sandbox endpoint: set AWS_ENDPOINT_URL or pass --endpoint-url", arn)
	}
	region := cfg.Region
	if region == "" {
		region = "us-east-1"
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("fire %s: credentials: %w", arn, err)
	}
	body, _ := json.Marshal(map[string]string{"Arn": arn})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(endpoint, "/")+"/", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("fire %s: %w", arn, err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "Sandbox.Fire")
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "sandbox", region, time.Now()); err != nil {
		return fmt.Errorf("fire %s: sign: %w", arn, err)
	}
	resp, err := cfg.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("fire %s: %w", arn, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("fire %s: read answer: %w", arn, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(data, &e)
		return fmt.Errorf("fire %s: %s: %s", arn, e.Type, e.Message)
	}
	var out struct {
		Deliveries []struct{ Target, Result, Error string }
	}
	if err := json.Unmarshal(data, &out); err != nil {
		return fmt.Errorf("fire %s: read answer: %w", arn, err)
	}
	failed := 0
	for _, d := range out.Deliveries {
		if d.Error != "" {
			failed++
			fmt.Fprintf(cmd.OutOrStdout(), "%s\tfailed: %s\n", d.Target, d.Error)
			continue
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\n", d.Target, d.Result)
	}
	if failed > 0 {
		return fmt.Errorf("fire %s: %d of %d deliveries failed", arn, failed, len(out.Deliveries))
	}
	return nil
}
