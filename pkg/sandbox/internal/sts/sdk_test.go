package sts_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/stackerless/stackerless/pkg/sandbox"
	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

const (
	masterID = "111111111111"
	prodID   = "222222222222"
	mfaCond  = `,"Condition":{"Null":{"aws:MultiFactorAuthAge":"false"}}`
)

func trust(principal, condition string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + principal + `"},"Action":"sts:AssumeRole"` + condition + `}]}`
}

func noRetry(o *sts.Options) { o.RetryMaxAttempts = 1 }

// seed creates the seed example's roles (and a few more) through the IAM API.
func seed(t *testing.T, sb *sandbox.Sandbox) {
	t.Helper()
	ctx := t.Context()
	create := func(account, name, trustDoc string, admin bool, inline string) {
		t.Helper()
		client := iam.NewFromConfig(sb.AWSConfig(account))
		if _, err := client.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trustDoc), MaxSessionDuration: aws.Int32(43200)}); err != nil {
			t.Fatalf("CreateRole %s/%s: %v", account, name, err)
		}
		if admin {
			if _, err := client.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(name), PolicyArn: aws.String("arn:aws:iam::aws:policy/AdministratorAccess")}); err != nil {
				t.Fatalf("AttachRolePolicy: %v", err)
			}
		}
		if inline != "" {
			if _, err := client.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("inline"), PolicyDocument: aws.String(inline)}); err != nil {
				t.Fatalf("PutRolePolicy: %v", err)
			}
		}
	}
	create("master", "Stacker", trust("arn:aws:iam::"+masterID+":root", mfaCond), true, "")
	create("prod", "Stacker", trust("arn:aws:iam::"+masterID+":role/Stacker", mfaCond), true, "")
	create("prod", "Deployer", trust(masterID, `,"Condition":{"StringEquals":{"sts:ExternalId":"s3cr3t"}}`), true, "")
	create("master", "Reader", trust(masterID, ""), false, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)
}

func apiError(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error = %v, want API error %s", err, code)
	}
	if ae.ErrorCode() != code || (msg != "" && ae.ErrorMessage() != msg) {
		t.Fatalf("error = %s %q, want %s %q", ae.ErrorCode(), ae.ErrorMessage(), code, msg)
	}
}

func identity(ctx context.Context, t *testing.T, sb *sandbox.Sandbox, creds aws.CredentialsProvider) (*sts.GetCallerIdentityOutput, error) {
	t.Helper()
	return sts.NewFromConfig(sb.ConfigWith(creds), noRetry).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
}

func TestSDKTrustAndMFA(t *testing.T) {
	sb := sandboxtest.Start(t)
	seed(t, sb)
	ctx := t.Context()
	masterSTS := sts.NewFromConfig(sb.AWSConfig("master"), noRetry)

	out, err := masterSTS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(out.Arn) != "arn:aws:iam::111111111111:root" || aws.ToString(out.Account) != masterID || aws.ToString(out.UserId) != masterID {
		t.Fatalf("GetCallerIdentity = %+v, %v", out, err)
	}

	t.Run("untrusted principal cannot assume Stacker", func(t *testing.T) {
		_, err := sts.NewFromConfig(sb.AWSConfig("prod"), noRetry).AssumeRole(ctx, &sts.AssumeRoleInput{
			RoleArn: aws.String("arn:aws:iam::111111111111:role/Stacker"), RoleSessionName: aws.String("probe")})
		apiError(t, err, "AccessDenied", "User: arn:aws:iam::222222222222:root is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111111111111:role/Stacker")
	})
	t.Run("unknown role is AccessDenied", func(t *testing.T) {
		_, err := masterSTS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::111111111111:role/Nope"), RoleSessionName: aws.String("probe")})
		apiError(t, err, "AccessDenied", "")
	})
	t.Run("MFA-gated trust denies without MFA", func(t *testing.T) {
		_, err := masterSTS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::111111111111:role/Stacker"), RoleSessionName: aws.String("probe")})
		apiError(t, err, "AccessDenied", "User: arn:aws:iam::111111111111:root is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111111111111:role/Stacker")
		plain, err := masterSTS.GetSessionToken(ctx, &sts.GetSessionTokenInput{})
		if err != nil {
			t.Fatal(err)
		}
		c := plain.Credentials
		_, err = sts.NewFromConfig(sb.ConfigWith(credentials.NewStaticCredentialsProvider(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)), noRetry).AssumeRole(ctx,
			&sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::111111111111:role/Stacker"), RoleSessionName: aws.String("probe")})
		apiError(t, err, "AccessDenied", "")
	})

	// The seed's chain: MFA session -> master Stacker -> prod Stacker.
	sessOut, err := masterSTS.GetSessionToken(ctx, &sts.GetSessionTokenInput{SerialNumber: aws.String("arn:aws:iam::111111111111:mfa/root-account-mfa-device"), TokenCode: aws.String("123456")})
	if err != nil {
		t.Fatalf("GetSessionToken with MFA: %v", err)
	}
	c := sessOut.Credentials
	mfaCreds := credentials.NewStaticCredentialsProvider(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)
	if id, err := identity(ctx, t, sb, mfaCreds); err != nil || aws.ToString(id.Arn) != "arn:aws:iam::111111111111:root" {
		t.Fatalf("MFA session identity = %+v, %v (root sessions stay root)", id, err)
	}
	masterStacker := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(sb.ConfigWith(mfaCreds), noRetry), "arn:aws:iam::111111111111:role/Stacker",
		func(o *stscreds.AssumeRoleOptions) { o.RoleSessionName = "stacker" })
	id, err := identity(ctx, t, sb, masterStacker)
	if err != nil || aws.ToString(id.Arn) != "arn:aws:sts::111111111111:assumed-role/Stacker/stacker" || aws.ToString(id.Account) != masterID ||
		!strings.HasPrefix(aws.ToString(id.UserId), "AROA") || !strings.HasSuffix(aws.ToString(id.UserId), ":stacker") {
		t.Fatalf("master Stacker identity = %+v, %v", id, err)
	}
	prodStacker := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(sb.ConfigWith(masterStacker), noRetry), "arn:aws:iam::222222222222:role/Stacker",
		func(o *stscreds.AssumeRoleOptions) { o.RoleSessionName = "stacker" })
	id, err = identity(ctx, t, sb, prodStacker)
	if err != nil || aws.ToString(id.Arn) != "arn:aws:sts::222222222222:assumed-role/Stacker/stacker" {
		t.Fatalf("prod Stacker identity = %+v, %v", id, err)
	}

	t.Run("role chaining caps the duration at one hour", func(t *testing.T) {
		_, err := sts.NewFromConfig(sb.ConfigWith(masterStacker), noRetry).AssumeRole(ctx, &sts.AssumeRoleInput{
			RoleArn: aws.String("arn:aws:iam::222222222222:role/Stacker"), RoleSessionName: aws.String("probe"), DurationSeconds: aws.Int32(7200)})
		apiError(t, err, "ValidationError", "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	})
	t.Run("ExternalId required", func(t *testing.T) {
		deployer := func(externalID string) aws.CredentialsProvider {
			return stscreds.NewAssumeRoleProvider(sts.NewFromConfig(sb.ConfigWith(masterStacker), noRetry), "arn:aws:iam::222222222222:role/Deployer",
				func(o *stscreds.AssumeRoleOptions) {
					if externalID != "" {
						o.ExternalID = aws.String(externalID)
					}
				})
		}
		_, err := identity(ctx, t, sb, deployer(""))
		apiError(t, err, "AccessDenied", "")
		_, err = identity(ctx, t, sb, deployer("wrong"))
		apiError(t, err, "AccessDenied", "")
		if id, err := identity(ctx, t, sb, deployer("s3cr3t")); err != nil || !strings.Contains(aws.ToString(id.Arn), ":assumed-role/Deployer/") {
			t.Fatalf("with ExternalId: %+v, %v", id, err)
		}
	})
	t.Run("identity policy lacking the action denies", func(t *testing.T) {
		reader := stscreds.NewAssumeRoleProvider(masterSTS, "arn:aws:iam::111111111111:role/Reader")
		_, err := iam.NewFromConfig(sb.ConfigWith(reader), func(o *iam.Options) { o.RetryMaxAttempts = 1 }).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("Stacker")})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" ||
			!strings.HasSuffix(ae.ErrorMessage(), "is not authorized to perform: iam:GetRole on resource: arn:aws:iam::111111111111:role/Stacker because no identity-based policy allows the iam:GetRole action") {
			t.Fatalf("GetRole as Reader: %v", err)
		}
		// The admin role may.
		if _, err := iam.NewFromConfig(sb.ConfigWith(masterStacker)).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("Stacker")}); err != nil {
			t.Fatalf("GetRole as Stacker: %v", err)
		}
	})
	t.Run("validation", func(t *testing.T) {
		_, err := masterSTS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::111111111111:role/Stacker"), RoleSessionName: aws.String("bad name")})
		apiError(t, err, "ValidationError", `1 validation error detected: Value 'bad name' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*`)
		_, err = masterSTS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::111111111111:role/Stacker"), RoleSessionName: aws.String("ok"), DurationSeconds: aws.Int32(60)})
		apiError(t, err, "ValidationError", "1 validation error detected: Value '60' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900")
	})
}

func TestSDKIAMRoles(t *testing.T) {
	sb := sandboxtest.Start(t)
	ctx := t.Context()
	client := iam.NewFromConfig(sb.AWSConfig("prod"), func(o *iam.Options) { o.RetryMaxAttempts = 1 })
	trustDoc := trust(masterID, "")
	created, err := client.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("Stacker"), Path: aws.String("/ops/"), AssumeRolePolicyDocument: aws.String(trustDoc),
		Description: aws.String("deployer"), Tags: []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("infra")}}})
	if err != nil {
		t.Fatalf("CreateRole: %v", err)
	}
	r := created.Role
	if aws.ToString(r.Arn) != "arn:aws:iam::222222222222:role/ops/Stacker" || aws.ToString(r.Path) != "/ops/" || aws.ToInt32(r.MaxSessionDuration) != 3600 ||
		r.CreateDate == nil || len(r.Tags) != 1 || aws.ToString(r.Description) != "deployer" {
		t.Errorf("CreateRole returned %+v", r)
	}
	_, err = client.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("stacker"), AssumeRolePolicyDocument: aws.String(trustDoc)})
	var exists *iamtypes.EntityAlreadyExistsException
	if !errors.As(err, &exists) {
		t.Errorf("duplicate CreateRole: %v", err)
	}
	_, err = client.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("Bad"), AssumeRolePolicyDocument: aws.String(`{"Statement":`)})
	var malformed *iamtypes.MalformedPolicyDocumentException
	if !errors.As(err, &malformed) {
		t.Errorf("malformed CreateRole: %v", err)
	}

	got, err := client.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("Stacker")})
	if err != nil {
		t.Fatal(err)
	}
	// IAM returns policy documents URL-encoded; the SDK leaves them so.
	if doc, err := url.QueryUnescape(aws.ToString(got.Role.AssumeRolePolicyDocument)); err != nil || doc != trustDoc || aws.ToString(got.Role.AssumeRolePolicyDocument) == trustDoc {
		t.Errorf("AssumeRolePolicyDocument = %q (decoded %q, %v)", aws.ToString(got.Role.AssumeRolePolicyDocument), doc, err)
	}
	_, err = client.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("Nope")})
	var noSuch *iamtypes.NoSuchEntityException
	if !errors.As(err, &noSuch) {
		t.Errorf("GetRole unknown: %v", err)
	}

	inline := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`
	if _, err := client.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("Stacker"), PolicyName: aws.String("s3"), PolicyDocument: aws.String(inline)}); err != nil {
		t.Fatal(err)
	}
	_, err = client.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("Stacker"), PolicyName: aws.String("bad"), PolicyDocument: aws.String(`{"Statement":[{"Effect":"Allow","Action":"s3:*"}]}`)})
	if !errors.As(err, &malformed) || malformed.ErrorMessage() != "Policy statement must contain resources." {
		t.Errorf("malformed PutRolePolicy: %v", err)
	}
	rp, err := client.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("Stacker"), PolicyName: aws.String("s3")})
	if err != nil {
		t.Fatal(err)
	}
	if doc, _ := url.QueryUnescape(aws.ToString(rp.PolicyDocument)); doc != inline || aws.ToString(rp.RoleName) != "Stacker" {
		t.Errorf("GetRolePolicy = %+v", rp)
	}
	names, err := client.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String("Stacker")})
	if err != nil || len(names.PolicyNames) != 1 || names.PolicyNames[0] != "s3" {
		t.Errorf("ListRolePolicies = %+v, %v", names, err)
	}

	pol, err := client.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("Deploy"), PolicyDocument: aws.String(inline)})
	if err != nil {
		t.Fatal(err)
	}
	policyARN := aws.ToString(pol.Policy.Arn)
	if policyARN != "arn:aws:iam::222222222222:policy/Deploy" || aws.ToString(pol.Policy.DefaultVersionId) != "v1" {
		t.Errorf("CreatePolicy = %+v", pol.Policy)
	}
	for _, arn := range []string{policyARN, "arn:aws:iam::aws:policy/ReadOnlyAccess"} {
		if _, err := client.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("Stacker"), PolicyArn: aws.String(arn)}); err != nil {
			t.Fatal(err)
		}
	}
	attached, err := client.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("Stacker")})
	if err != nil || len(attached.AttachedPolicies) != 2 || aws.ToString(attached.AttachedPolicies[1].PolicyName) != "ReadOnlyAccess" {
		t.Errorf("ListAttachedRolePolicies = %+v, %v", attached, err)
	}
	gp, err := client.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(policyARN)})
	if err != nil || aws.ToInt32(gp.Policy.AttachmentCount) != 1 {
		t.Errorf("GetPolicy = %+v, %v", gp, err)
	}
	var conflict *iamtypes.DeleteConflictException
	if _, err := client.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: aws.String(policyARN)}); !errors.As(err, &conflict) {
		t.Errorf("DeletePolicy while attached: %v", err)
	}
	if _, err := client.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("Stacker")}); !errors.As(err, &conflict) || conflict.ErrorMessage() != "Cannot delete entity, must delete policies first." {
		t.Errorf("DeleteRole with inline policy: %v", err)
	}
	if _, err := client.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("Stacker"), PolicyName: aws.String("s3")}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("Stacker")}); !errors.As(err, &conflict) || conflict.ErrorMessage() != "Cannot delete entity, must detach all policies first." {
		t.Errorf("DeleteRole with attached policy: %v", err)
	}
	for _, arn := range []string{policyARN, "arn:aws:iam::aws:policy/ReadOnlyAccess"} {
		if _, err := client.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String("Stacker"), PolicyArn: aws.String(arn)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := client.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: aws.String(policyARN)}); err != nil {
		t.Errorf("DeletePolicy: %v", err)
	}

	// Pagination over ListRoles.
	for _, n := range []string{"A", "B", "C"} {
		if _, err := client.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(n), AssumeRolePolicyDocument: aws.String(trustDoc)}); err != nil {
			t.Fatal(err)
		}
	}
	var all []string
	pager := iam.NewListRolesPaginator(client, &iam.ListRolesInput{MaxItems: aws.Int32(2)})
	pages := 0
	for pager.HasMorePages() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, r := range page.Roles {
			all = append(all, aws.ToString(r.RoleName))
		}
	}
	if strings.Join(all, ",") != "A,B,C,Stacker" || pages != 2 {
		t.Errorf("ListRoles pages = %d, roles %v", pages, all)
	}
	if _, err := client.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("Stacker")}); err != nil {
		t.Errorf("DeleteRole: %v", err)
	}
	// Another account sees none of these roles.
	other, err := iam.NewFromConfig(sb.AWSConfig("master")).ListRoles(ctx, &iam.ListRolesInput{})
	if err != nil || len(other.Roles) != 0 {
		t.Errorf("master ListRoles = %+v, %v", other, err)
	}
}
