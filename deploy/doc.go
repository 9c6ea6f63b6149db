// Package deploy holds how sluice is run (local service scripts, container image, compose file); its tests check that docker-compose.yml wires every service sluice needs.
package deploy
