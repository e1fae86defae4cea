"""IAM: the permissions each activity needs and least-privilege policies for an experiment."""
