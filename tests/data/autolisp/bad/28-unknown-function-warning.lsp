;; expect: unknown-function
(defun c:TAGIT (/ e)
  (setq e (car (entsel)))
  (add-project-tag e)
  (princ)
)
