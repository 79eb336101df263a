typedef int cp__placeholder_log;
