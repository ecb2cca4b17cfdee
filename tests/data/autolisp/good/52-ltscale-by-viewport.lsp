;;; Matches PSLTSCALE behaviour for the current layout.
(defun c:LTFIX ()
  (setvar "PSLTSCALE" 1)
  (setvar "MSLTSCALE" 1)
  (setvar "LTSCALE" 1.)
  (command "_.REGENALL")
  (princ)
)
