package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/standin-dev/standin/server/app"
)

func newMigrateCmd() *cobra.Command {
	var databaseURL string
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Migrate the database, or show its migration status",
		Long: `Apply standin's and River's pending migrations. standin serve does this on
start unless --skip-migrate is given; run it yourself when several processes
share one PostgreSQL database and you start them with --skip-migrate.`,
		Example: `  standin migrate up --database-url postgres://localhost/standin
  standin migrate status`,
		Args: cobra.ArbitraryArgs,
		RunE: requireSubcommand,
	}
	up := &cobra.Command{
		Use:     "up",
		Short:   "Apply every pending migration",
		Example: `  standin migrate up --database-url postgres://localhost/standin`,
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := app.OpenStore(cmd.Context(), databaseURL, true, nil)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.Migrate(cmd.Context()); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "migrated", app.DescribeDatabase(databaseURL))
			return nil
		},
	}
	status := &cobra.Command{
		Use:     "status",
		Short:   "List migrations and whether each is applied",
		Example: `  standin migrate status --database-url ./standin.db`,
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := app.OpenStore(cmd.Context(), databaseURL, true, nil)
			if err != nil {
				return err
			}
			defer st.Close()
			ms, err := st.MigrationStatus(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "COMPONENT\tVERSION\tNAME\tAPPLIED")
			pending := 0
			for _, m := range ms {
				applied := "pending"
				if m.Applied {
					applied = "yes"
					if m.AppliedAt != nil {
						applied = m.AppliedAt.UTC().Format(time.RFC3339)
					}
				} else {
					pending++
				}
				fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", m.Component, m.Version, m.Name, applied)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d pending\n", pending)
			return nil
		},
	}
	cmd.AddCommand(up, status)
	for _, c := range []*cobra.Command{up, status} {
		c.Flags().StringVar(&databaseURL, "database-url", "", "database: a SQLite path, sqlite:///path, or postgres://… (default ./standin.db)")
		bindEnv(c, map[string]string{"database-url": "STANDIN_DATABASE_URL"})
	}
	return cmd
}
