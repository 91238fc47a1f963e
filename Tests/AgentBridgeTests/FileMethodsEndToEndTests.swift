// End-to-end tests of the file methods through the built binary live here (FileMethodsEndToEndTests).
