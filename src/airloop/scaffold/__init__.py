"""`airloop init`: profile a data file and write a commented airloop.yaml that runs unedited."""
