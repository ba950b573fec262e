package main

import (
	"github.com/spf13/cobra"
)

// newCompletionCmd returns `standin completion SHELL`, which writes cobra's
// completion script for bash, zsh, fish or PowerShell.
func newCompletionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print the shell completion script for bash, zsh, fish or PowerShell",
		Long: `Print a script that makes your shell complete standin's commands and flags.
Load it in the current shell, or install it where your shell looks for
completions.`,
		Example: `  # bash, this shell only
  source <(standin completion bash)
  # bash, every new shell (Linux)
  standin completion bash > /etc/bash_completion.d/standin

  # zsh
  standin completion zsh > "${fpath[1]}/_standin"

  # fish
  standin completion fish > ~/.config/fish/completions/standin.fish

  # PowerShell
  standin completion powershell | Out-String | Invoke-Expression`,
		ValidArgs:             []string{"bash", "zsh", "fish", "powershell"},
		Args:                  usageArgs(cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs)),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			root, out := cmd.Root(), cmd.OutOrStdout()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(out, true)
			case "zsh":
				return root.GenZshCompletion(out)
			case "fish":
				return root.GenFishCompletion(out, true)
			default:
				return root.GenPowerShellCompletionWithDesc(out)
			}
		},
	}
}
