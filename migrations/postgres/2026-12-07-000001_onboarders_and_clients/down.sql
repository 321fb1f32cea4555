DROP TABLE account_clients;
DROP TABLE onboarders;
