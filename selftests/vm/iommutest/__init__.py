"""What only the iommu-bpf VM tests need: TAP output, the RMRR the policy
profiles set up, iommufd's selftest mock, doctored policy objects.  The
helpers the demo and the benchmark share live in vmlib/iommuvm."""
