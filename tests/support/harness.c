typedef int cp__placeholder_harness;
