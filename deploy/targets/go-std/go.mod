module swarmbench/targets/go-std

go 1.22
