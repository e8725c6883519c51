module github.com/go-cdk-shop/shop/lambdas/contract

go 1.26.0
