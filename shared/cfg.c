typedef int cp__placeholder_cfg;
