package lambdaenv

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/go-cdk-shop/shop/lambdas/contract"
)

// Env is a function's start in AWS, once per execution environment: its
// JSON logger, its configuration from the environment and the SDK's
// configuration.
type Env struct {
	Fn     contract.Function
	Config Config
	AWS    aws.Config
	Log    *slog.Logger
}

// Start reads fn's environment, or ends the init with an error that names
// every missing setting.
func Start(fn contract.Function) Env {
	e := Env{Fn: fn, Log: Logger()}
	var err error
	e.Config, err = FromEnv(fn)
	e.Must(err)
	e.AWS, err = AWS()
	e.Must(err)
	return e
}

// Must ends the init when err is not nil: Lambda reports the init error.
func (e Env) Must(err error) {
	if err != nil {
		Fatal(e.Log, err)
	}
}

// AWS builds the SDK configuration from the variables Lambda sets in every
// execution environment (region and the function role's credentials). In
// Lambda the SDK's default chain resolves to exactly these; reading them
// directly keeps the SSO, STS and IMDS providers out of the binary (about 2 MB)
// and off the cold start.
func AWS() (aws.Config, error) {
	region := os.Getenv("AWS_REGION")
	key, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if region == "" || key == "" || secret == "" {
		return aws.Config{}, fmt.Errorf("AWS_REGION, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set")
	}
	return aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(key, secret, os.Getenv("AWS_SESSION_TOKEN")),
	}, nil
}

// Logger is the JSON logger every function writes to stdout; CloudWatch keeps the lines as they are.
func Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// Fatal logs why a function cannot start and exits; Lambda reports the init error.
func Fatal(log *slog.Logger, err error) {
	log.Error("cannot start", "error", err.Error())
	os.Exit(1)
}
