# The npm packages installed next to the e2e test are not Python tests.
collect_ignore = ["node_modules"]
