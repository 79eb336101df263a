/* placeholder: being written */ typedef int cp__placeholder_store_url;
